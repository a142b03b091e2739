import { useMutation } from "@urql/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { FollowMutation, LikeMutation, UnfollowMutation, UnlikeMutation, VideoCardFields } from "../documents";
import { describe } from "../errors";
import type { ResultOf } from "../graphql";
import { href, navigate } from "../router";
import { useSession } from "../session";
import { Avatar, formatCount, Icon } from "../ui";

export type CardVideo = ResultOf<typeof VideoCardFields>;

interface Props {
  video: CardVideo;
  position: number;
  onChange(id: string, patch: Partial<CardVideo>): void;
  onFollow(authorId: string, following: boolean): void;
}

/** Plays while most of the card is on screen; pauses when scrolled away. */
function usePlayInView(video: HTMLVideoElement | null) {
  useEffect(() => {
    if (!video) return;
    const observer = new IntersectionObserver(
      ([entry]) => {
        if (entry?.isIntersecting) void video.play().catch(() => undefined);
        else video.pause();
      },
      { threshold: 0.6 },
    );
    observer.observe(video);
    return () => observer.disconnect();
  }, [video]);
}

export function VideoCard({ video, position, onChange, onFollow }: Props) {
  const { session } = useSession();
  const [player, setPlayer] = useState<HTMLVideoElement | null>(null);
  const [muted, setMuted] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [, like] = useMutation(LikeMutation);
  const [, unlike] = useMutation(UnlikeMutation);
  const [, follow] = useMutation(FollowMutation);
  const [, unfollow] = useMutation(UnfollowMutation);
  const titleId = `video-title-${video.id}`;
  const pending = useRef(false);
  usePlayInView(player);

  const needSession = () => {
    if (session) return false;
    navigate({ name: "signin" });
    return true;
  };

  const toggleLike = async () => {
    if (needSession() || pending.current) return;
    pending.current = true;
    const liked = !video.viewerHasLiked;
    // At once, then whatever the server says.
    onChange(video.id, { viewerHasLiked: liked, favoriteCount: Math.max(0, video.favoriteCount + (liked ? 1 : -1)) });
    const result = liked ? await like({ id: video.id }) : await unlike({ id: video.id });
    pending.current = false;
    const answer = result.data ? ("likeVideo" in result.data ? result.data.likeVideo : result.data.unlikeVideo) : null;
    if (answer) {
      onChange(video.id, { viewerHasLiked: answer.viewerHasLiked, favoriteCount: answer.favoriteCount });
      setError(null);
    } else {
      onChange(video.id, { viewerHasLiked: video.viewerHasLiked, favoriteCount: video.favoriteCount });
      setError(describe(result.error));
    }
  };

  const toggleFollow = async () => {
    if (needSession()) return;
    const following = !video.author.viewerIsFollowing;
    onFollow(video.author.id, following);
    const result = following ? await follow({ id: video.author.id }) : await unfollow({ id: video.author.id });
    const answer = result.data ? ("followUser" in result.data ? result.data.followUser : result.data.unfollowUser) : null;
    onFollow(video.author.id, answer ? answer.viewerIsFollowing : !following);
    setError(answer ? null : describe(result.error));
  };

  const tapVideo = () => {
    if (!player) return;
    if (muted) {
      player.muted = false;
      setMuted(false);
      void player.play().catch(() => undefined);
    } else if (player.paused) {
      void player.play().catch(() => undefined);
    } else {
      player.pause();
    }
  };

  const isOwn = session?.user.id === video.author.id;
  return (
    <article class="card" aria-labelledby={titleId} data-video-id={video.id} data-position={position}>
      <video
        ref={setPlayer}
        class="player"
        src={video.playUrl}
        poster={video.coverUrl}
        muted={muted}
        loop
        playsInline
        preload={position <= 2 ? "auto" : "metadata"}
        onClick={tapVideo}
        aria-label={`Video: ${video.title}`}
      />
      <button type="button" class="sound" onClick={tapVideo}>
        <Icon name={muted ? "muted" : "sound"} />
        {muted ? "Unmute" : "Pause / play"}
      </button>
      <div class="overlay">
        <h2 id={titleId} class="title">
          {video.title}
        </h2>
        <p class="byline">
          <a href={href({ name: "profile", id: video.author.id })}>
            <Avatar src={video.author.avatar} name={video.author.name} size={32} />@{video.author.name}
          </a>
          {!isOwn && (
            <button type="button" class="follow" aria-pressed={video.author.viewerIsFollowing} onClick={toggleFollow}>
              {video.author.viewerIsFollowing ? "Following" : "Follow"}
            </button>
          )}
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </div>
      <div class="actions">
        <button
          type="button"
          class="like"
          aria-pressed={video.viewerHasLiked}
          onClick={toggleLike}
        >
          <span class="visually-hidden">Like</span>
          <span aria-hidden="true">{video.viewerHasLiked ? "♥" : "♡"}</span>
          <span class="count">{formatCount(video.favoriteCount)}</span>
        </button>
        <a class="comments-link" href={href({ name: "comments", id: video.id })}>
          <span class="visually-hidden">Comments</span>
          <Icon name="comment" />
          <span class="count">{formatCount(video.commentCount)}</span>
        </a>
      </div>
    </article>
  );
}
