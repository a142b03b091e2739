import { useClient } from "@urql/preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { FeedQuery } from "../documents";
import type { ResultOf } from "../graphql";
import { describe } from "../errors";
import { appendPage, patchById } from "../merge";
import { Empty, ErrorNote } from "../ui";
import { VideoCard, type CardVideo } from "./VideoCard";

const PAGE_SIZE = 5;

type FeedPage = ResultOf<typeof FeedQuery>["feed"];

export function Feed() {
  const client = useClient();
  const [videos, setVideos] = useState<CardVideo[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(true);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const busy = useRef(false);

  const loadMore = useCallback(async () => {
    if (busy.current || !hasMore) return;
    busy.current = true;
    setLoading(true);
    const result = await client.query(FeedQuery, { first: PAGE_SIZE, after: cursor }).toPromise();
    busy.current = false;
    setLoading(false);
    const page: FeedPage | undefined = result.data?.feed;
    if (!page) {
      setError(describe(result.error));
      setHasMore(false);
      return;
    }
    setError(null);
    setVideos((shown) => appendPage(shown, page.edges.map((edge) => edge.node)));
    setCursor(page.pageInfo.endCursor ?? null);
    setHasMore(page.pageInfo.hasNextPage);
  }, [client, cursor, hasMore]);

  // The first page at once, not after the sentinel's first intersection report.
  useEffect(() => void loadMore(), []); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    const target = sentinel.current;
    if (!target) return;
    // Fetch the next page while the last card is still a screen or two away.
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && void loadMore(), {
      rootMargin: "200% 0px",
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [loadMore]);

  useEffect(() => {
    if (videos.length && !performance.getEntriesByName("first-card").length) performance.mark("first-card");
  }, [videos.length]);

  const update = useCallback((id: string, patch: Partial<CardVideo>) => setVideos((shown) => patchById(shown, id, patch)), []);
  const updateAuthor = useCallback(
    (authorId: string, following: boolean) =>
      setVideos((shown) =>
        shown.map((video) =>
          video.author.id === authorId ? { ...video, author: { ...video.author, viewerIsFollowing: following } } : video,
        ),
      ),
    [],
  );

  return (
    <section class="feed" aria-label="Feed">
      <h1 class="visually-hidden">Feed</h1>
      {videos.map((video, index) => (
        <VideoCard key={video.id} video={video} position={index + 1} onChange={update} onFollow={updateAuthor} />
      ))}
      <div ref={sentinel} class="sentinel" aria-hidden="true" />
      <ErrorNote message={error} />
      {loading && <p class="loading" role="status">Loading…</p>}
      {!loading && !hasMore && !error && (videos.length ? <Empty>You are all caught up.</Empty> : <Empty>No videos yet.</Empty>)}
    </section>
  );
}
