import { useQuery } from "@urql/preact";
import { FriendsQuery } from "../documents";
import { describe } from "../errors";
import { href } from "../router";
import { useSession } from "../session";
import { Avatar, Empty, ErrorNote } from "../ui";

export function Friends() {
  const { session } = useSession();
  const [{ data, error, fetching }] = useQuery({ query: FriendsQuery, pause: !session });
  if (!session) {
    return (
      <section class="panel">
        <h1>Friends</h1>
        <p>
          <a href={href({ name: "signin" })}>Sign in</a> to see your friends.
        </p>
      </section>
    );
  }
  const edges = data?.viewer?.friends.edges ?? [];
  return (
    <section class="panel">
      <h1>Friends</h1>
      <p class="hint">People you follow who follow you back.</p>
      <ErrorNote message={describe(error)} />
      {fetching && !data && <p role="status">Loading…</p>}
      {data && !edges.length && <Empty>No friends yet: follow someone who follows you.</Empty>}
      <ul class="list">
        {edges.map(({ node, lastMessage }) => (
          <li key={node.id}>
            <a class="person friend" href={href({ name: "chat", id: node.id })}>
              <Avatar src={node.avatar} name={node.name} />
              <span class="grow">
                <span class="name">@{node.name}</span>
                <span class="last">
                  {lastMessage
                    ? `${lastMessage.sender.id === session.user.id ? "You: " : ""}${lastMessage.content}`
                    : "No messages yet"}
                </span>
              </span>
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
