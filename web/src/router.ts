/** Hash routes (`#/profile/7`): the server serves one index.html at `/`, whatever the page. */
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { name: "feed" }
  | { name: "signin" }
  | { name: "publish" }
  | { name: "friends" }
  | { name: "profile"; id: string }
  | { name: "comments"; id: string }
  | { name: "chat"; id: string };

const WITH_ID = new Set(["profile", "comments", "chat"]);
const PLAIN = new Set(["signin", "publish", "friends"]);

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [name, id] = parts;
  if (name && id && WITH_ID.has(name) && /^\d+$/.test(id)) {
    return { name: name as "profile" | "comments" | "chat", id };
  }
  if (name && PLAIN.has(name) && parts.length === 1) return { name: name as "signin" | "publish" | "friends" };
  return { name: "feed" };
}

export function href(route: Route): string {
  return "id" in route ? `#/${route.name}/${encodeURIComponent(route.id)}` : route.name === "feed" ? "#/" : `#/${route.name}`;
}

export function navigate(route: Route): void {
  window.location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}
