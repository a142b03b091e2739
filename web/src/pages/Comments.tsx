import { useMutation, useQuery } from "@urql/preact";
import { useEffect, useState } from "preact/hooks";
import { AddCommentMutation, CommentsQuery, DeleteCommentMutation } from "../documents";
import { describe } from "../errors";
import type { ResultOf } from "../graphql";
import { href } from "../router";
import { useSession } from "../session";
import { Avatar, Empty, ErrorNote } from "../ui";

type Comment = NonNullable<ResultOf<typeof CommentsQuery>["video"]>["comments"]["nodes"][number];

export function Comments({ id }: { id: string }) {
  const { session } = useSession();
  const [{ data, error, fetching }] = useQuery({ query: CommentsQuery, variables: { id } });
  const [comments, setComments] = useState<Comment[]>([]);
  const [count, setCount] = useState(0);
  const [draft, setDraft] = useState("");
  const [actionError, setActionError] = useState<string | null>(null);
  const [adding, add] = useMutation(AddCommentMutation);
  const [, remove] = useMutation(DeleteCommentMutation);
  const video = data?.video;

  useEffect(() => {
    if (video) {
      setComments(video.comments.nodes);
      setCount(video.commentCount);
    }
  }, [video]);

  if (fetching && !video) return <p role="status">Loading…</p>;
  if (error) return <ErrorNote message={describe(error)} />;
  if (!video) return <ErrorNote message="That video no longer exists." />;

  const submit = async (event: Event) => {
    event.preventDefault();
    const content = draft.trim();
    if (!content) return;
    const result = await add({ videoId: id, content });
    const added = result.data?.addComment;
    if (!added) {
      setActionError(describe(result.error));
      return;
    }
    setActionError(null);
    setDraft("");
    setComments((shown) => [added, ...shown]);
    setCount((n) => n + 1);
  };

  const del = async (commentId: string) => {
    const result = await remove({ id: commentId });
    const payload = result.data?.deleteComment;
    if (!payload) {
      setActionError(describe(result.error));
      return;
    }
    setActionError(null);
    setComments((shown) => shown.filter((c) => c.id !== payload.deletedCommentId));
    setCount(payload.video.commentCount);
  };

  const mayDelete = (comment: Comment) =>
    session !== null && (comment.author.id === session.user.id || video.author.id === session.user.id);

  return (
    <section class="panel comments">
      <p>
        <a href="#/">← Back to the feed</a>
      </p>
      <h1>
        Comments on “{video.title}” <span class="count">({count})</span>
      </h1>
      {session ? (
        <form class="form inline" onSubmit={submit}>
          <label class="grow">
            <span class="visually-hidden">Your comment</span>
            <input
              name="comment"
              placeholder="Add a comment…"
              maxLength={500}
              required
              value={draft}
              onInput={(e) => setDraft(e.currentTarget.value)}
            />
          </label>
          <button type="submit" disabled={adding.fetching}>
            Post
          </button>
        </form>
      ) : (
        <p>
          <a href={href({ name: "signin" })}>Sign in</a> to comment.
        </p>
      )}
      <ErrorNote message={actionError} />
      {comments.length ? (
        <ul class="list">
          {comments.map((comment) => (
            <li key={comment.id} class="comment" data-comment-id={comment.id}>
              <Avatar src={comment.author.avatar} name={comment.author.name} size={32} />
              <div class="grow">
                <a href={href({ name: "profile", id: comment.author.id })}>@{comment.author.name}</a>
                <p class="content">{comment.content}</p>
              </div>
              {mayDelete(comment) && (
                <button type="button" class="small" onClick={() => void del(comment.id)} aria-label="Delete comment">
                  Delete
                </button>
              )}
            </li>
          ))}
        </ul>
      ) : (
        <Empty>No comments yet.</Empty>
      )}
    </section>
  );
}
