/**
 * Matrix avatars of the people in the call, as object URLs by user id: read from the room's
 * members and fetched through the Matrix link (media needs the user's credentials); and their
 * display names, for members known only by their membership (on an SFU we cannot reach). A nicety:
 * whatever fails, initials (or the user id) are shown instead.
 */
import type { MatrixLink } from './matrix-link.ts';

export class Avatars {
  private readonly urls = new Map<string, string>();
  private readonly names = new Map<string, string>();
  private loading: Promise<void> | undefined;

  constructor(
    private readonly link: Pick<MatrixLink, 'members' | 'avatar'>,
    private readonly changed: () => void,
  ) {}

  get(userId: string | undefined): string | undefined {
    return userId === undefined ? undefined : this.urls.get(userId);
  }

  /** The member's display name, once the members were read. */
  name(userId: string): string | undefined {
    return this.names.get(userId);
  }

  /** Fetches the avatars not yet known (one pass at a time). */
  load(): void {
    if (this.loading !== undefined) return;
    this.loading = (async () => {
      try {
        const members = await this.link.members();
        for (const [userId, info] of members)
          if (info.displayname !== undefined) this.names.set(userId, info.displayname);
        for (const [userId, info] of members) {
          if (info.avatarUrl === undefined || this.urls.has(userId)) continue;
          const url = await this.link.avatar(info.avatarUrl);
          if (url !== undefined) {
            this.urls.set(userId, url);
            this.changed();
          }
        }
      } catch {
        // Initials are shown instead.
      } finally {
        this.loading = undefined;
      }
    })();
  }
}
