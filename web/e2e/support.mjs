// The real server on the embedded default (SQLite, local media) in a temporary data dir, Debian's
// Chromium through playwright-core, and a real H.264 clip made with the ffmpeg that imageio-ffmpeg ships.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ARTIFACTS = join(ROOT, "var", "web-e2e");
const PYTHON = existsSync(join(ROOT, ".venv", "bin", "python")) ? join(ROOT, ".venv", "bin", "python") : "python3";
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
// Without the background-networking flags Chromium keeps dialling out, which a closed network refuses.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
];
// Set for other tests on a developer's machine or in CI; the served embedded default must not see them.
const SERVICE_VARIABLES = ["DATABASE_URL", "REDIS_URL", "S3_ENDPOINT", "JWT_SECRET", "PUBLIC_BASE_URL", "OTEL_SERVICE_NAME"];

export function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

export async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), "douyin-web-"));
  const port = await freePort();
  const env = { ...process.env };
  for (const name of SERVICE_VARIABLES) delete env[name];
  Object.assign(env, { ENV: "development", DATA_DIR: dataDir, HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "warning" });
  execFileSync(PYTHON, ["manage.py", "migrate"], { cwd: ROOT, env, stdio: ["ignore", "ignore", "inherit"] });
  const child = spawn(PYTHON, ["manage.py", "serve"], { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  // Generous: a busy shared machine can take a minute or more to import and start the server.
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new Error("the server did not answer /healthz within 180 s");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    dataDir,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** A real H.264 MP4 (with noise, so it is a few hundred kB and the upload takes a visible while). */
export function makeClip(target, seconds = 3) {
  const ffmpeg = execFileSync(PYTHON, ["-c", "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())"], {
    encoding: "utf8",
  }).trim();
  execFileSync(ffmpeg, [
    "-v", "error", "-y", "-f", "lavfi", "-i", `testsrc2=duration=${seconds}:size=360x640:rate=30`,
    "-vf", "noise=alls=30:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
    "-movflags", "+faststart", target,
  ]);
  return target;
}

export function artifactsDir() {
  rmSync(ARTIFACTS, { recursive: true, force: true }); // only this run's screenshots
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}

export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
export const DESKTOP = { viewport: { width: 1280, height: 800 } };
