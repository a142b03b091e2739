import { useMutation } from "@urql/preact";
import { useState } from "preact/hooks";
import { LoginMutation, RegisterMutation } from "../documents";
import { describe } from "../errors";
import { navigate } from "../router";
import { useSession } from "../session";
import { ErrorNote } from "../ui";

export function SignIn() {
  const { session, setSession } = useSession();
  const [mode, setMode] = useState<"signin" | "signup">("signin");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [login, sendLogin] = useMutation(LoginMutation);
  const [register, sendRegister] = useMutation(RegisterMutation);
  const busy = login.fetching || register.fetching;

  if (session) {
    return (
      <section class="panel">
        <h1>Signed in as @{session.user.name}</h1>
        <button type="button" onClick={() => setSession(null)}>
          Sign out
        </button>
      </section>
    );
  }

  const submit = async (event: Event) => {
    event.preventDefault();
    const variables = { username: username.trim(), password };
    const result = mode === "signin" ? await sendLogin(variables) : await sendRegister(variables);
    const payload = result.data ? ("login" in result.data ? result.data.login : result.data.register) : null;
    if (!payload) {
      setError(describe(result.error));
      return;
    }
    setSession({ token: payload.token, user: payload.user });
    navigate({ name: "feed" });
  };

  const title = mode === "signin" ? "Sign in" : "Sign up";
  return (
    <section class="panel">
      <h1>{title}</h1>
      <form onSubmit={submit} class="form">
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            required
            maxLength={32}
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={mode === "signin" ? "current-password" : "new-password"}
            required
            minLength={6}
            maxLength={32}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <ErrorNote message={error} />
        <button type="submit" disabled={busy}>
          {title}
        </button>
      </form>
      <p>
        {mode === "signin" ? "New here? " : "Have an account? "}
        <button
          type="button"
          class="link"
          onClick={() => {
            setMode(mode === "signin" ? "signup" : "signin");
            setError(null);
          }}
        >
          {mode === "signin" ? "Create an account" : "Sign in instead"}
        </button>
      </p>
    </section>
  );
}
