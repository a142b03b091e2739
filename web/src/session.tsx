import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Session } from "./auth";

export interface SessionState {
  session: Session | null;
  setSession(session: Session | null): void;
  /** When the live connection (subscriptions) was last acknowledged; 0 while it is closed. */
  liveSince: number;
}

export const SessionContext = createContext<SessionState>({
  session: null,
  setSession: () => undefined,
  liveSince: 0,
});

export function useSession(): SessionState {
  return useContext(SessionContext);
}
