/** Pure list bookkeeping shared by the pages (unit-tested). */

export interface WithId {
  id: string;
}

/** Appends a page, dropping items already shown (a cursor page can overlap after new posts). */
export function appendPage<T extends WithId>(shown: readonly T[], page: readonly T[]): T[] {
  const seen = new Set(shown.map((item) => item.id));
  return [...shown, ...page.filter((item) => !seen.has(item.id))];
}

/** Replaces the item with the same id by `patch` applied on it. */
export function patchById<T extends WithId>(items: readonly T[], id: string, patch: Partial<T>): T[] {
  return items.map((item) => (item.id === id ? { ...item, ...patch } : item));
}

export interface ChatMessage extends WithId {
  createdAt: string;
  sender: { id: string };
  recipient: { id: string };
}

/** Merges messages into a conversation, oldest first, each once (the subscription also echoes the
 * viewer's own messages). Ids are increasing integers, the tie-breaker for equal times. */
export function mergeMessages<T extends ChatMessage>(shown: readonly T[], incoming: readonly T[]): T[] {
  const byId = new Map<string, T>();
  for (const message of [...shown, ...incoming]) byId.set(message.id, message);
  return [...byId.values()].sort(
    (a, b) => a.createdAt.localeCompare(b.createdAt) || Number(a.id) - Number(b.id),
  );
}

/** Whether a message belongs to the conversation between the viewer and `peerId`. */
export function inConversation(message: ChatMessage, viewerId: string, peerId: string): boolean {
  const ends = [message.sender.id, message.recipient.id];
  return ends.includes(peerId) && ends.includes(viewerId);
}

export function latestTime(messages: readonly ChatMessage[]): string | undefined {
  return messages.length ? messages[messages.length - 1]?.createdAt : undefined;
}
