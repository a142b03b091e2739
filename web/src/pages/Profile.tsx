import { useMutation, useQuery } from "@urql/preact";
import { useEffect, useState } from "preact/hooks";
import { FollowMutation, ProfileQuery, UnfollowMutation } from "../documents";
import { describe } from "../errors";
import type { ResultOf } from "../graphql";
import { href, navigate } from "../router";
import { useSession } from "../session";
import { Avatar, Empty, ErrorNote, formatCount } from "../ui";

type Profile = NonNullable<ResultOf<typeof ProfileQuery>["user"]>;
type Tab = "videos" | "favorites" | "following" | "followers";

const TABS: { tab: Tab; label: string }[] = [
  { tab: "videos", label: "Videos" },
  { tab: "favorites", label: "Likes" },
  { tab: "following", label: "Following" },
  { tab: "followers", label: "Followers" },
];

function Tiles({ videos }: { videos: Profile["videos"]["nodes"] }) {
  if (!videos.length) return <Empty>Nothing here yet.</Empty>;
  return (
    <ul class="tiles">
      {videos.map((video) => (
        <li key={video.id}>
          <a href={href({ name: "comments", id: video.id })}>
            <img src={video.coverUrl} alt="" loading="lazy" width={160} height={284} />
            <span class="tile-title">{video.title}</span>
            <span class="tile-likes">♥ {formatCount(video.favoriteCount)}</span>
          </a>
        </li>
      ))}
    </ul>
  );
}

function People({ users }: { users: Profile["following"]["nodes"] }) {
  if (!users.length) return <Empty>Nobody yet.</Empty>;
  return (
    <ul class="list">
      {users.map((user) => (
        <li key={user.id}>
          <a href={href({ name: "profile", id: user.id })} class="person">
            <Avatar src={user.avatar} name={user.name} />@{user.name}
          </a>
        </li>
      ))}
    </ul>
  );
}

export function Profile({ id }: { id: string }) {
  const { session, setSession } = useSession();
  const [{ data, error, fetching }, refetch] = useQuery({ query: ProfileQuery, variables: { id } });
  const [tab, setTab] = useState<Tab>("videos");
  const [following, setFollowing] = useState<{ on: boolean; followers: number } | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [, follow] = useMutation(FollowMutation);
  const [, unfollow] = useMutation(UnfollowMutation);
  const user = data?.user;

  useEffect(() => setFollowing(user ? { on: user.viewerIsFollowing, followers: user.followerCount } : null), [user]);

  if (fetching && !user) return <p role="status">Loading…</p>;
  if (error) return <ErrorNote message={describe(error)} />;
  if (!user) return <ErrorNote message="No such user." />;

  const isViewer = session?.user.id === user.id;
  const toggleFollow = async () => {
    if (!session) return navigate({ name: "signin" });
    const on = !following?.on;
    const result = on ? await follow({ id: user.id }) : await unfollow({ id: user.id });
    const answer = result.data ? ("followUser" in result.data ? result.data.followUser : result.data.unfollowUser) : null;
    if (!answer) return setActionError(describe(result.error));
    setActionError(null);
    setFollowing({ on: answer.viewerIsFollowing, followers: answer.followerCount });
    refetch({ requestPolicy: "network-only" });
  };

  const counts: [string, number][] = [
    ["Following", user.followCount],
    ["Followers", following?.followers ?? user.followerCount],
    ["Likes received", user.totalFavorited],
    ["Videos", user.workCount],
    ["Liked", user.favoriteCount],
  ];
  return (
    <section class="panel profile">
      <header class="profile-head">
        <Avatar src={user.avatar} name={user.name} size={72} />
        <div class="grow">
          <h1>@{user.name}</h1>
          {user.signature && <p>{user.signature}</p>}
        </div>
        {isViewer ? (
          <button type="button" onClick={() => setSession(null)}>
            Sign out
          </button>
        ) : (
          <button type="button" class="follow" aria-pressed={following?.on ?? false} onClick={toggleFollow}>
            {following?.on ? "Following" : "Follow"}
          </button>
        )}
      </header>
      <ErrorNote message={actionError} />
      <dl class="counts">
        {counts.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd data-count={label}>{formatCount(value)}</dd>
          </div>
        ))}
      </dl>
      <div role="tablist" aria-label="Profile lists" class="tabs">
        {TABS.map((item) => (
          <button
            key={item.tab}
            type="button"
            role="tab"
            id={`tab-${item.tab}`}
            aria-selected={tab === item.tab}
            aria-controls="profile-panel"
            onClick={() => setTab(item.tab)}
          >
            {item.label}
          </button>
        ))}
      </div>
      <div id="profile-panel" role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {tab === "videos" && <Tiles videos={user.videos.nodes} />}
        {tab === "favorites" && <Tiles videos={user.favorites.nodes} />}
        {tab === "following" && <People users={user.following.nodes} />}
        {tab === "followers" && <People users={user.followers.nodes} />}
      </div>
    </section>
  );
}
