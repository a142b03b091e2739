import { describe, expect, it } from "vitest";
import { appendPage, inConversation, latestTime, mergeMessages, patchById } from "../src/merge";

const message = (id: string, createdAt: string, from = "1", to = "2") => ({
  id,
  createdAt,
  content: `m${id}`,
  sender: { id: from },
  recipient: { id: to },
});

describe("appendPage", () => {
  it("keeps order and drops what is already shown", () => {
    expect(appendPage([{ id: "3" }, { id: "2" }], [{ id: "2" }, { id: "1" }]).map((v) => v.id)).toEqual(["3", "2", "1"]);
  });
});

describe("patchById", () => {
  it("changes only the matching item", () => {
    const items = [
      { id: "1", n: 0 },
      { id: "2", n: 0 },
    ];
    expect(patchById(items, "2", { n: 5 })).toEqual([
      { id: "1", n: 0 },
      { id: "2", n: 5 },
    ]);
    expect(items[1]?.n).toBe(0);
  });
});

describe("mergeMessages", () => {
  it("orders oldest first and keeps each message once", () => {
    const shown = [message("1", "2026-12-01T10:00:00.000Z"), message("3", "2026-12-01T10:00:02.000Z")];
    const merged = mergeMessages(shown, [message("2", "2026-12-01T10:00:01.000Z"), message("3", "2026-12-01T10:00:02.000Z")]);
    expect(merged.map((m) => m.id)).toEqual(["1", "2", "3"]);
  });

  it("breaks ties in time by id", () => {
    const at = "2026-12-01T10:00:00.000Z";
    expect(mergeMessages([message("10", at)], [message("9", at)]).map((m) => m.id)).toEqual(["9", "10"]);
  });

  it("knows the latest time", () => {
    expect(latestTime([])).toBeUndefined();
    expect(latestTime([message("1", "a"), message("2", "b")])).toBe("b");
  });
});

describe("inConversation", () => {
  it("accepts both directions between the two people only", () => {
    expect(inConversation(message("1", "t", "1", "2"), "1", "2")).toBe(true);
    expect(inConversation(message("1", "t", "2", "1"), "1", "2")).toBe(true);
    expect(inConversation(message("1", "t", "3", "1"), "1", "2")).toBe(false);
  });
});
