import { useClient, useMutation, useSubscription } from "@urql/preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ConversationQuery, MessageSubscription, SendMessageMutation } from "../documents";
import { describe } from "../errors";
import type { ResultOf } from "../graphql";
import { inConversation, latestTime, mergeMessages } from "../merge";
import { href } from "../router";
import { useSession } from "../session";
import { Avatar, ErrorNote } from "../ui";

type Message = ResultOf<typeof ConversationQuery>["conversation"][number];
type Peer = NonNullable<ResultOf<typeof ConversationQuery>["user"]>;

export function Chat({ id }: { id: string }) {
  const { session, liveSince } = useSession();
  const client = useClient();
  const [peer, setPeer] = useState<Peer | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [draft, setDraft] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [sending, send] = useMutation(SendMessageMutation);
  const latest = useRef<string | undefined>(undefined);
  const list = useRef<HTMLOListElement>(null);
  const viewerId = session?.user.id ?? "";

  const catchUp = useCallback(async () => {
    const result = await client.query(ConversationQuery, { id, after: latest.current ?? null }).toPromise();
    if (!result.data) return setError(describe(result.error));
    setError(null);
    setPeer(result.data.user ?? null);
    setMessages((shown) => mergeMessages(shown, result.data?.conversation ?? []));
  }, [client, id]);

  // The whole conversation on opening; what was missed whenever the live connection (re)opens.
  useEffect(() => {
    if (session) void catchUp();
  }, [session, catchUp, liveSince]);

  useSubscription({ query: MessageSubscription, pause: !session }, (_previous: unknown, data) => {
    const message = data.messageReceived;
    if (inConversation(message, viewerId, id)) setMessages((shown) => mergeMessages(shown, [message]));
    return data;
  });

  useEffect(() => {
    latest.current = latestTime(messages);
    list.current?.lastElementChild?.scrollIntoView({ block: "end" });
  }, [messages]);

  if (!session) {
    return (
      <section class="panel">
        <h1>Chat</h1>
        <p>
          <a href={href({ name: "signin" })}>Sign in</a> to chat.
        </p>
      </section>
    );
  }

  const submit = async (event: Event) => {
    event.preventDefault();
    const content = draft.trim();
    if (!content) return;
    const result = await send({ to: id, content });
    const sent = result.data?.sendMessage;
    if (!sent) return setError(describe(result.error));
    setError(null);
    setDraft("");
    setMessages((shown) => mergeMessages(shown, [sent]));
  };

  return (
    <section class="panel chat" data-live={liveSince ? "on" : "off"}>
      <header class="chat-head">
        <a href={href({ name: "friends" })}>← Friends</a>
        {peer && (
          <a class="person" href={href({ name: "profile", id: peer.id })}>
            <Avatar src={peer.avatar} name={peer.name} size={32} />
            <h1>@{peer.name}</h1>
          </a>
        )}
        <span class="live" role="status">
          {liveSince ? "Live" : "Connecting…"}
        </span>
      </header>
      <ol class="messages" ref={list} aria-label="Messages" aria-live="polite">
        {messages.map((message) => (
          <li key={message.id} class={message.sender.id === viewerId ? "mine" : "theirs"} data-message-id={message.id}>
            <span class="visually-hidden">{message.sender.id === viewerId ? "You: " : `${peer?.name ?? "They"}: `}</span>
            {message.content}
          </li>
        ))}
      </ol>
      <ErrorNote message={error} />
      <form class="form inline" onSubmit={submit}>
        <label class="grow">
          <span class="visually-hidden">Message</span>
          <input
            name="message"
            placeholder="Message…"
            maxLength={1000}
            required
            autoComplete="off"
            value={draft}
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={sending.fetching}>
          Send
        </button>
      </form>
    </section>
  );
}
