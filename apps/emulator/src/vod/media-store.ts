/** What kind of VOD media an id names (decides the callback event and the info API). */
export type MediaKind = 'video' | 'image' | 'attached';

export type MediaStatus = 'Uploading' | 'UploadSucc' | 'UploadFail' | 'Normal';

export interface MessageCallback {
  url: string;
  type: 'http';
}

export interface Media {
  id: string;
  kind: MediaKind;
  title: string;
  description?: string;
  /** FileName / OriginalFileName the caller gave. */
  fileName?: string;
  bucket: string;
  key: string;
  /** FileSize the caller announced, if any. */
  declaredSize?: number;
  /** Size of the uploaded object, once complete. */
  size?: number;
  status: MediaStatus;
  creationTime: Date;
  modificationTime: Date;
  cateId?: number;
  tags?: string;
  coverUrl?: string;
  templateGroupId?: string;
  workflowId?: string;
  storageLocation: string;
  appId: string;
  userData?: string;
  referenceId?: string;
  imageType?: string;
  businessType?: string;
  callback?: MessageCallback;
}

/**
 * VOD media metadata, in memory (saved by the emulator's state snapshot when it has a data dir).
 * Indexed by id and by the object key its upload goes to, so an object completion finds its media.
 */
export class MediaStore {
  /** @param changed called after every change (the state snapshot is due for a write). */
  constructor(private readonly changed: () => void = () => {}) {}

  readonly #byId = new Map<string, Media>();
  readonly #byObject = new Map<string, Media>();
  /** ReferenceId → media: unique per account (the emulator serves one account). */
  readonly #byReference = new Map<string, Media>();

  add(media: Media): void {
    this.#byId.set(media.id, media);
    this.#byObject.set(`${media.bucket}/${media.key}`, media);
    if (media.referenceId !== undefined) this.#byReference.set(media.referenceId, media);
    this.changed();
  }

  byReferenceId(referenceId: string): Media | undefined {
    return this.#byReference.get(referenceId);
  }

  get(id: string): Media | undefined {
    return this.#byId.get(id);
  }

  byObject(bucket: string, key: string): Media | undefined {
    return this.#byObject.get(`${bucket}/${key}`);
  }

  delete(id: string): Media | undefined {
    const media = this.#byId.get(id);
    if (!media) return undefined;
    this.#byId.delete(id);
    this.#byObject.delete(`${media.bucket}/${media.key}`);
    // Our assumption: a deleted media frees its ReferenceId (VOD documents no reservation).
    if (media.referenceId !== undefined) this.#byReference.delete(media.referenceId);
    this.changed();
    return media;
  }

  /** Marks the media whose object just completed; returns it when this changed its status. */
  markUploaded(bucket: string, key: string, size: number, now = new Date()): Media | undefined {
    const media = this.byObject(bucket, key);
    if (!media) return undefined;
    media.size = size;
    media.modificationTime = now;
    this.changed();
    if (media.status !== 'Uploading') return undefined;
    media.status = media.kind === 'image' ? 'Normal' : 'UploadSucc';
    return media;
  }

  list(): Media[] {
    return [...this.#byId.values()];
  }
}
