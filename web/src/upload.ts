/** `publishVideo` as a GraphQL multipart request (operations, map, file) over XMLHttpRequest, whose
 * upload events give a progress bar (fetch has no upload progress). */
import { stringifyDocument } from "@urql/core";
import { authorization } from "./auth";
import { GRAPHQL_PATH } from "./client";
import { PublishMutation } from "./documents";
import { describe, NETWORK_ERROR, type GraphQLErrorLike } from "./errors";

export interface Published {
  id: string;
  title: string;
}

export type PublishOutcome = { ok: true; video: Published } | { ok: false; message: string };

export function publishForm(title: string, file: Blob, fileName: string): FormData {
  const operations = {
    query: stringifyDocument(PublishMutation),
    operationName: "Publish",
    variables: { title, file: null },
  };
  const form = new FormData();
  form.append("operations", JSON.stringify(operations));
  form.append("map", JSON.stringify({ "0": ["variables.file"] }));
  form.append("0", file, fileName);
  return form;
}

interface PublishBody {
  data?: { publishVideo?: Published | null } | null;
  errors?: GraphQLErrorLike[];
}

/** What the server's answer means for the user: the video, or a message chosen by the error code
 * (a refused file carries BAD_USER_INPUT and the server's short reason; a body over the limit is a 413
 * with the same shape). */
export function outcomeOf(status: number, text: string): PublishOutcome {
  let body: PublishBody;
  try {
    body = JSON.parse(text) as PublishBody;
  } catch {
    return { ok: false, message: status === 413 ? "That file is too large." : NETWORK_ERROR };
  }
  const video = body.data?.publishVideo;
  if (video && !body.errors?.length) return { ok: true, video };
  return { ok: false, message: describe({ graphQLErrors: body.errors ?? [], networkError: status }) ?? "" };
}

export interface UploadHandle {
  done: Promise<PublishOutcome>;
  abort(): void;
}

export function publishWithProgress(
  token: string | null,
  title: string,
  file: File,
  onProgress: (fraction: number) => void,
  makeRequest: () => XMLHttpRequest = () => new XMLHttpRequest(),
): UploadHandle {
  const xhr = makeRequest();
  const done = new Promise<PublishOutcome>((resolve) => {
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(Math.min(1, event.loaded / event.total));
    });
    xhr.upload.addEventListener("load", () => onProgress(1));
    xhr.addEventListener("load", () => resolve(outcomeOf(xhr.status, xhr.responseText)));
    xhr.addEventListener("error", () => resolve({ ok: false, message: NETWORK_ERROR }));
    xhr.addEventListener("abort", () => resolve({ ok: false, message: "Upload cancelled." }));
    xhr.open("POST", GRAPHQL_PATH);
    for (const [name, value] of Object.entries(authorization(token))) xhr.setRequestHeader(name, value);
    xhr.send(publishForm(title, file, file.name || "video.mp4"));
  });
  return { done, abort: () => xhr.abort() };
}
