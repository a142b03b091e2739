import { beforeEach, describe, expect, it } from "vitest";
import { authorization, loadSession, saveSession } from "../src/auth";
import { socketUrl } from "../src/client";

/** The Storage interface over a Map (the unit tests run in Node, without a DOM). */
class MemoryStorage implements Storage {
  private items = new Map<string, string>();
  get length() {
    return this.items.size;
  }
  clear() {
    this.items.clear();
  }
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  key(index: number) {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
}

const localStorage = new MemoryStorage();

describe("session", () => {
  beforeEach(() => localStorage.clear());

  it("is kept in localStorage and removed on sign-out", () => {
    expect(loadSession(localStorage)).toBeNull();
    saveSession({ token: "t0k", user: { id: "1", name: "alice", avatar: "/a.png" } }, localStorage);
    expect(localStorage.getItem("douyin.token")).toBe("t0k");
    expect(loadSession(localStorage)).toEqual({ token: "t0k", user: { id: "1", name: "alice", avatar: "/a.png" } });
    saveSession(null, localStorage);
    expect(loadSession(localStorage)).toBeNull();
    expect(localStorage.length).toBe(0);
  });

  it("ignores a damaged entry", () => {
    localStorage.setItem("douyin.token", "t");
    localStorage.setItem("douyin.user", "{not json");
    expect(loadSession(localStorage)).toBeNull();
  });

  it("sends the token as a bearer header, nothing when anonymous", () => {
    expect(authorization("abc")).toEqual({ Authorization: "Bearer abc" });
    expect(authorization(null)).toEqual({});
  });

  it("opens the socket on the same origin", () => {
    expect(socketUrl({ protocol: "http:", host: "127.0.0.1:8080" })).toBe("ws://127.0.0.1:8080/graphql");
    expect(socketUrl({ protocol: "https:", host: "example.com" })).toBe("wss://example.com/graphql");
  });
});
