// Attachments: resumable uploads (POST /uploads, PATCH parts, complete),
// then a `send` with the media id through the outbox.
//
// Each upload is kept in the store with its Blob until it is sent, so that
// after a reload it continues from the server's offset instead of starting
// again. Parts are small enough to show progress and large enough to keep
// the request count low.

import type { Id } from '../protocol/types';
import { ApiError, type RestClient } from './rest';
import { Observable } from './observable';
import type { Store, UploadRecord } from './store';

export interface UploadProgress {
  upload_id: string;
  conversation_id: Id;
  name: string;
  size: number;
  sent: number;
  error?: string;
}

const PART = 512 * 1024;

export class Uploads {
  readonly progress = new Observable<UploadProgress[]>([]);
  private controllers = new Map<string, AbortController>();

  constructor(
    private readonly store: Store,
    private readonly rest: RestClient,
    private readonly send: (conversation: Id, attachments: string[]) => Promise<unknown>,
  ) {}

  /** Continues the uploads a previous page left unfinished. */
  async resume(): Promise<void> {
    for (const u of await this.store.uploads()) void this.run(u);
  }

  /** Starts uploading `file` into `conversation`. */
  async add(conversation: Id, file: File): Promise<void> {
    let created;
    try {
      created = await this.rest.createUpload(file.size, file.name || 'file');
    } catch (e) {
      this.report({ upload_id: `failed-${Date.now()}`, conversation_id: conversation, name: file.name, size: file.size, sent: 0, error: describe(e) });
      return;
    }
    const record: UploadRecord = {
      upload_id: created.upload.id,
      conversation_id: conversation,
      name: file.name || 'file',
      size: file.size,
      type: file.type,
      blob: file,
      created_at: Date.now(),
    };
    await this.store.putUpload(record);
    await this.run(record);
  }

  /** Stops an upload and deletes what the server has of it. */
  async cancel(uploadId: string): Promise<void> {
    this.controllers.get(uploadId)?.abort();
    this.controllers.delete(uploadId);
    await this.store.removeUpload(uploadId);
    this.progress.update((list) => list.filter((p) => p.upload_id !== uploadId));
    if (!uploadId.startsWith('failed-')) await this.rest.cancelUpload(uploadId).catch(() => undefined);
  }

  private report(p: UploadProgress): void {
    this.progress.update((list) => {
      const i = list.findIndex((x) => x.upload_id === p.upload_id);
      if (i < 0) return [...list, p];
      const copy = [...list];
      copy[i] = p;
      return copy;
    });
  }

  private async run(u: UploadRecord): Promise<void> {
    const controller = new AbortController();
    this.controllers.set(u.upload_id, controller);
    const base = { upload_id: u.upload_id, conversation_id: u.conversation_id, name: u.name, size: u.size };
    try {
      this.report({ ...base, sent: 0 });
      let offset = (await this.rest.getUpload(u.upload_id)).upload.offset;
      this.report({ ...base, sent: offset });
      let failures = 0;
      while (offset < u.size) {
        if (controller.signal.aborted) return;
        const part = u.blob.slice(offset, Math.min(u.size, offset + PART));
        try {
          offset = (await this.rest.appendUpload(u.upload_id, part, offset, u.size, controller.signal)).upload.offset;
          failures = 0;
        } catch (e) {
          if (controller.signal.aborted) return;
          // The server's offset moved (a part of a previous page arrived), a
          // request of a previous page still holds the upload (conflict), or
          // the network failed: ask the offset again, after a pause when it
          // was not a plain mismatch; give up after a few failures in a row.
          if (!(e instanceof ApiError) || !TRANSIENT.has(e.code) || ++failures > 6) throw e;
          if (e.code !== 'offset_mismatch') await delay(Math.min(8000, 500 * 2 ** failures), controller.signal);
          offset = (await this.rest.getUpload(u.upload_id)).upload.offset;
          continue;
        }
        this.report({ ...base, sent: offset });
      }
      const { media } = await this.rest.completeUpload(u.upload_id);
      await this.send(u.conversation_id, [media.id]);
      await this.store.removeUpload(u.upload_id);
      this.progress.update((list) => list.filter((p) => p.upload_id !== u.upload_id));
    } catch (e) {
      if (controller.signal.aborted) return;
      if (e instanceof ApiError && e.code === 'not_found') {
        // The upload expired on the server: nothing to resume.
        await this.store.removeUpload(u.upload_id);
      }
      this.report({ ...base, sent: 0, error: describe(e) });
    } finally {
      this.controllers.delete(u.upload_id);
    }
  }
}

const TRANSIENT = new Set(['offset_mismatch', 'conflict', 'network', 'service_busy', 'too_many_requests', 'internal']);

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

function describe(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'quota_exceeded') return 'Your storage is full.';
    if (e.code === 'payload_too_large') return 'The file is too large.';
    if (e.code === 'network') return 'The server cannot be reached.';
    return e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
