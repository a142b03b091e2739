import { describe, expect, it } from "vitest";
import { href, parseRoute } from "../src/router";

describe("routes", () => {
  it("parses each page", () => {
    expect(parseRoute("")).toEqual({ name: "feed" });
    expect(parseRoute("#/")).toEqual({ name: "feed" });
    expect(parseRoute("#/signin")).toEqual({ name: "signin" });
    expect(parseRoute("#/profile/12")).toEqual({ name: "profile", id: "12" });
    expect(parseRoute("#/chat/3")).toEqual({ name: "chat", id: "3" });
    expect(parseRoute("#/comments/7")).toEqual({ name: "comments", id: "7" });
  });

  it("falls back to the feed on anything else", () => {
    expect(parseRoute("#/profile/abc")).toEqual({ name: "feed" });
    expect(parseRoute("#/nowhere")).toEqual({ name: "feed" });
    expect(parseRoute("#/signin/extra")).toEqual({ name: "feed" });
  });

  it("round-trips", () => {
    for (const hash of ["#/", "#/publish", "#/friends", "#/profile/4", "#/chat/9"]) expect(href(parseRoute(hash))).toBe(hash);
  });
});
