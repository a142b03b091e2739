import type { ComponentChildren } from "preact";

export function ErrorNote({ message }: { message: string | null | undefined }) {
  return message ? (
    <p class="error" role="alert">
      {message}
    </p>
  ) : null;
}

export function Avatar({ src, name, size = 40 }: { src: string; name: string; size?: number }) {
  return <img class="avatar" src={src} alt="" width={size} height={size} loading="lazy" aria-hidden="true" data-name={name} />;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function formatCount(count: number): string {
  return count >= 10_000 ? `${(count / 1000).toFixed(count >= 100_000 ? 0 : 1)}k` : String(count);
}
