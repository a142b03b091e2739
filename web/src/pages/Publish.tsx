import { useState } from "preact/hooks";
import { href, navigate } from "../router";
import { useSession } from "../session";
import { ErrorNote } from "../ui";
import { publishWithProgress } from "../upload";

export function Publish() {
  const { session } = useSession();
  const [title, setTitle] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  if (!session) {
    return (
      <section class="panel">
        <h1>Publish a video</h1>
        <p>
          <a href={href({ name: "signin" })}>Sign in</a> to publish.
        </p>
      </section>
    );
  }

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!file) return;
    setError(null);
    setDone(null);
    setProgress(0);
    const outcome = await publishWithProgress(session.token, title.trim(), file, setProgress).done;
    if (outcome.ok) {
      setDone(`Published “${outcome.video.title}”.`);
      setTitle("");
      window.setTimeout(() => navigate({ name: "feed" }), 600);
    } else {
      setProgress(null);
      setError(outcome.message);
    }
  };

  const uploading = progress !== null && !done && !error;
  const percent = Math.round((progress ?? 0) * 100);
  return (
    <section class="panel">
      <h1>Publish a video</h1>
      <form onSubmit={submit} class="form">
        <label>
          Title
          <input name="title" required maxLength={100} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        </label>
        <label>
          Video file
          <input
            name="file"
            type="file"
            accept="video/*"
            required
            onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
          />
        </label>
        {progress !== null && (
          <div class="progress-row">
            <progress id="upload-progress" max={100} value={percent} aria-label="Upload progress" />
            <span class="percent" aria-live="polite">
              {percent}%
            </span>
          </div>
        )}
        <ErrorNote message={error} />
        {done && (
          <p class="ok" role="status">
            {done}
          </p>
        )}
        <button type="submit" disabled={uploading || !file}>
          {uploading ? "Uploading…" : "Publish"}
        </button>
      </form>
    </section>
  );
}
