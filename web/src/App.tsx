import { Provider } from "@urql/preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { loadSession, saveSession, type Session } from "./auth";
import { createApi } from "./client";
import { Nav } from "./Nav";
import { Chat } from "./pages/Chat";
import { Comments } from "./pages/Comments";
import { Feed } from "./pages/Feed";
import { Friends } from "./pages/Friends";
import { Profile } from "./pages/Profile";
import { Publish } from "./pages/Publish";
import { SignIn } from "./pages/SignIn";
import { useRoute, type Route } from "./router";
import { SessionContext } from "./session";

function Page({ route }: { route: Route }) {
  switch (route.name) {
    case "feed":
      return <Feed />;
    case "signin":
      return <SignIn />;
    case "publish":
      return <Publish />;
    case "friends":
      return <Friends />;
    case "profile":
      return <Profile id={route.id} />;
    case "comments":
      return <Comments id={route.id} />;
    case "chat":
      return <Chat id={route.id} />;
  }
}

export function App() {
  const route = useRoute();
  const [session, setSessionState] = useState<Session | null>(() => loadSession());
  const [liveSince, setLiveSince] = useState(0);
  const token = session?.token ?? null;
  const api = useMemo(() => createApi(token, { connected: () => setLiveSince(Date.now()), closed: () => setLiveSince(0) }), [token]);
  useEffect(() => {
    setLiveSince(0);
    return () => void api.socket.dispose();
  }, [api]);
  const state = useMemo(
    () => ({
      session,
      liveSince,
      setSession(next: Session | null) {
        saveSession(next);
        setSessionState(next);
      },
    }),
    [session, liveSince],
  );
  return (
    <SessionContext.Provider value={state}>
      <Provider value={api.client}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <Nav route={route} />
        <main id="main" class={`page page-${route.name}`} tabIndex={-1}>
          <Page route={route} />
        </main>
      </Provider>
    </SessionContext.Provider>
  );
}
