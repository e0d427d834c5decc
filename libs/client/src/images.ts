import type { EventData, ImagePruneResult, ImageRemoveResult, ImageSummary } from '@lxr/events';

/** An image on a node, as `GET /v1/images` lists it. */
export type NodeImage = ImageSummary & { readonly node: string };
/** What `DELETE /v1/images/{ref}` did on one node. */
export type NodeImageRemoval = ImageRemoveResult & { readonly node: string };
/** What `POST /v1/images/prune` freed on one node. */
export type NodeImagePrune = ImagePruneResult & { readonly node: string };

/** The body of `POST /v1/images/pull`. */
export interface PullImageRequest {
  /** Docker grammar: `golang` = `docker.io/library/golang:latest`. */
  readonly reference: string;
  /** `os/arch[/variant]`; the node's own by default. */
  readonly platform?: string;
  /** The node to pull on; the first alive one by default. */
  readonly node?: string;
}

/** One line of a pull's NDJSON stream: the request, progress, then the outcome. */
export type PullMessage =
  | { readonly type: 'ImagePullRequested'; readonly data: EventData<'ImagePullRequested'> }
  | { readonly type: 'ImagePullProgress'; readonly data: EventData<'ImagePullProgress'> }
  | { readonly type: 'ImagePulled'; readonly data: EventData<'ImagePulled'> }
  | { readonly type: 'ImagePullFailed'; readonly data: EventData<'ImagePullFailed'> };

/** Splits a stream of text chunks into parsed NDJSON lines. */
export async function* ndjsonLines<T>(chunks: AsyncIterable<string>): AsyncGenerator<T> {
  let pending = '';
  for await (const chunk of chunks) {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') yield JSON.parse(line) as T;
  }
  if (pending.trim() !== '') yield JSON.parse(pending) as T;
}
