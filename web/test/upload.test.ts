import { describe, expect, it } from "vitest";
import { outcomeOf, publishForm, publishWithProgress } from "../src/upload";

class FakeUpload extends EventTarget {}

/** Just enough of XMLHttpRequest: records what is sent, and lets the test play the events. */
class FakeXhr extends EventTarget {
  upload = new FakeUpload();
  status = 0;
  responseText = "";
  opened: [string, string] | null = null;
  headers: Record<string, string> = {};
  body: FormData | null = null;
  open(method: string, url: string) {
    this.opened = [method, url];
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  send(body: FormData) {
    this.body = body;
  }
  abort() {
    this.dispatchEvent(new Event("abort"));
  }
  progress(loaded: number, total: number) {
    const event = Object.assign(new Event("progress"), { lengthComputable: true, loaded, total });
    this.upload.dispatchEvent(event);
  }
  answer(status: number, body: unknown) {
    this.status = status;
    this.responseText = typeof body === "string" ? body : JSON.stringify(body);
    this.dispatchEvent(new Event("load"));
  }
}

describe("publishForm", () => {
  it("lays out the multipart request: operations, map, then the file", async () => {
    const form = publishForm("My clip", new Blob(["abc"]), "clip.mp4");
    expect([...form.keys()]).toEqual(["operations", "map", "0"]);
    const operations = JSON.parse(String(form.get("operations")));
    expect(operations.variables).toEqual({ title: "My clip", file: null });
    expect(operations.query).toMatch(/publishVideo\(title: \$title, file: \$file\)/);
    expect(JSON.parse(String(form.get("map")))).toEqual({ "0": ["variables.file"] });
    expect((form.get("0") as File).name).toBe("clip.mp4");
  });
});

describe("publishWithProgress", () => {
  it("reports progress and resolves with the video", async () => {
    const xhr = new FakeXhr();
    const seen: number[] = [];
    const handle = publishWithProgress("tok", "t", new File(["x"], "a.mp4"), (f) => seen.push(f), () => xhr as unknown as XMLHttpRequest);
    expect(xhr.opened).toEqual(["POST", "/graphql"]);
    expect(xhr.headers).toEqual({ Authorization: "Bearer tok" });
    xhr.progress(25, 100);
    xhr.progress(100, 100);
    xhr.answer(200, { data: { publishVideo: { id: "5", title: "t" } } });
    expect(await handle.done).toEqual({ ok: true, video: { id: "5", title: "t" } });
    expect(seen).toEqual([0.25, 1]);
  });

  it("says why the server refused the file", async () => {
    const xhr = new FakeXhr();
    const handle = publishWithProgress(null, "t", new File(["x"], "a.mp4"), () => undefined, () => xhr as unknown as XMLHttpRequest);
    expect(xhr.headers).toEqual({});
    xhr.answer(200, { data: null, errors: [{ message: "not a usable video", extensions: { code: "BAD_USER_INPUT" } }] });
    expect(await handle.done).toEqual({ ok: false, message: "not a usable video" });
  });
});

describe("outcomeOf", () => {
  it("turns a body over the limit into the server's message", () => {
    const body = { data: null, errors: [{ message: "the upload is over 200 MB", extensions: { code: "BAD_USER_INPUT" } }] };
    expect(outcomeOf(413, JSON.stringify(body))).toEqual({ ok: false, message: "the upload is over 200 MB" });
  });

  it("never shows a proxy's HTML page", () => {
    expect(outcomeOf(502, "<html>Bad gateway</html>")).toEqual({ ok: false, message: expect.stringMatching(/Cannot reach/) });
    expect(outcomeOf(413, "<html>too big</html>")).toEqual({ ok: false, message: "That file is too large." });
  });

  it("hides internal errors", () => {
    const body = { data: null, errors: [{ message: "KeyError: 'x'", extensions: { code: "INTERNAL_SERVER_ERROR" } }] };
    const outcome = outcomeOf(200, JSON.stringify(body));
    expect(outcome.ok).toBe(false);
    expect(JSON.stringify(outcome)).not.toContain("KeyError");
  });
});
