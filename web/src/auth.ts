/** The session: the token kept in localStorage and sent as `Authorization: Bearer <token>`. */

const TOKEN_KEY = "douyin.token";
const USER_KEY = "douyin.user";

export interface SessionUser {
  id: string;
  name: string;
  avatar: string;
}

export interface Session {
  token: string;
  user: SessionUser;
}

export function loadSession(storage: Storage = localStorage): Session | null {
  const token = storage.getItem(TOKEN_KEY);
  const user = storage.getItem(USER_KEY);
  if (!token || !user) return null;
  try {
    const parsed = JSON.parse(user) as SessionUser;
    return typeof parsed.id === "string" ? { token, user: parsed } : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null, storage: Storage = localStorage): void {
  if (session) {
    storage.setItem(TOKEN_KEY, session.token);
    storage.setItem(USER_KEY, JSON.stringify(session.user));
  } else {
    storage.removeItem(TOKEN_KEY);
    storage.removeItem(USER_KEY);
  }
}

export function authorization(token: string | null | undefined): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}
