import { type MediaType, VodError } from '@mediaferry/core';
import type { VodClient } from './vod-client.js';
import type { VodCallOptions } from './vod-types.js';

/**
 * Deletes one VOD media of any type with the action VOD has for it: DeleteVideo (video, audio),
 * DeleteImage (`DeleteImageType=ImageId`) or DeleteAttachedMedia. Each removes the media and its
 * file; an unknown id counts as deleted.
 */
export async function deleteVodMedia(
  vod: VodClient,
  mediaType: MediaType,
  mediaId: string,
  options?: VodCallOptions,
): Promise<void> {
  switch (mediaType) {
    case 'video':
    case 'audio':
      await vod.deleteVideo(mediaId, options);
      return;
    case 'image':
      // DeleteImage answers InvalidImage.NotFound for an id it does not know (DeleteVideo and
      // DeleteAttachedMedia list such ids instead): deleting twice must stay harmless.
      await vod
        .call('DeleteImage', { DeleteImageType: 'ImageId', ImageIds: mediaId }, options)
        .catch((err: unknown) => {
          if (!(err instanceof VodError && /NotFound$/.test(err.vodCode ?? ''))) throw err;
        });
      return;
    case 'attached':
      await vod.call('DeleteAttachedMedia', { MediaIds: mediaId }, options);
      return;
  }
}
