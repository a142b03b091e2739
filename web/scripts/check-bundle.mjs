// Fails when the committed bundle (web/dist) is not what the sources build to: rebuilds into a temporary
// directory and compares every file. `make run` serves the committed bundle on machines without Node.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const COMMITTED = join(WEB, "dist");

function files(root) {
  const found = new Map();
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else found.set(relative(root, path), readFileSync(path));
    }
  };
  walk(root);
  return found;
}

const fresh = mkdtempSync(join(tmpdir(), "douyin-web-dist-"));
try {
  execFileSync("npx", ["vite", "build", "--logLevel", "error", "--outDir", fresh, "--emptyOutDir"], {
    cwd: WEB,
    stdio: "inherit",
  });
  const want = files(fresh);
  const have = files(COMMITTED);
  const problems = [];
  for (const [name, body] of want) {
    if (!have.has(name)) problems.push(`missing: ${name}`);
    else if (!have.get(name).equals(body)) problems.push(`differs: ${name}`);
  }
  for (const name of have.keys()) if (!want.has(name)) problems.push(`not built any more: ${name}`);
  if (problems.length) {
    console.error(`web/dist is stale (run \`npm run build\` in web/ and commit web/dist):\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`web/dist is up to date (${want.size} files)`);
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
