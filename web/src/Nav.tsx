import { href, type Route } from "./router";
import { useSession } from "./session";

export function Nav({ route }: { route: Route }) {
  const { session } = useSession();
  const links: { label: string; target: Route }[] = [
    { label: "Feed", target: { name: "feed" } },
    { label: "Publish", target: { name: "publish" } },
    { label: "Friends", target: { name: "friends" } },
    session
      ? { label: "Me", target: { name: "profile", id: session.user.id } }
      : { label: "Sign in", target: { name: "signin" } },
  ];
  return (
    <header class="bar">
      <a class="brand" href="#/">
        Douyin
      </a>
      <nav aria-label="Main">
        <ul>
          {links.map(({ label, target }) => {
            const current = target.name === route.name && (!("id" in target) || ("id" in route && route.id === target.id));
            return (
              <li key={label}>
                <a href={href(target)} aria-current={current ? "page" : undefined}>
                  {label}
                </a>
              </li>
            );
          })}
        </ul>
      </nav>
    </header>
  );
}
