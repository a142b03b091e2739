// GraphiQL from the app's own origin (no CDN): built with the web client, served at GET /graphql under a
// Content-Security-Policy that allows only this origin.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/graphiql.css";
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import "./page.css";

const DEFAULT_QUERY = `# Douyin GraphQL. Run with Ctrl-Enter; put {"Authorization": "Bearer <token>"} in Headers to act as a user.
{
  feed(first: 3) {
    nodes {
      id
      title
      author {
        name
      }
    }
  }
}
`;

const params = new URLSearchParams(window.location.search);
const socketUrl = `${window.location.protocol === "https:" ? "wss:" : "ws:"}//${window.location.host}/graphql`;
const fetcher = createGraphiQLFetcher({ url: "/graphql", subscriptionUrl: socketUrl });

const root = document.getElementById("graphiql") as HTMLElement;
createRoot(root).render(
  createElement(GraphiQL, {
    fetcher,
    defaultQuery: DEFAULT_QUERY,
    query: params.get("q") ?? undefined,
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
  }),
);
