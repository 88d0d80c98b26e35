/** A wanted file as the layer walker tracks it: content, or a link to another image path. */
export interface TrackedFile {
  kind: 'file';
  /** The file's bytes, or the summary its stream detector made of them. */
  content: Buffer;
  layerDigest: string;
  /** The stream detector that summarised the file, when it was too big to capture. */
  detector?: string;
}

export interface TrackedLink {
  kind: 'link';
  /** Image path the link points at, already resolved and kept inside the image. */
  target: string;
  layerDigest: string;
}

export type TrackedNode = TrackedFile | TrackedLink;

export interface ImageFile {
  content: Buffer;
  /** The layer that last wrote the content (for a link: the layer that wrote its target). */
  layerDigest: string;
  detector?: string;
}

/** Wanted files by image path (no leading `/`), links followed. */
export type FileView = ReadonlyMap<string, ImageFile>;

const maxLinkHops = 16;

/**
 * Follows links only among the captured files, so resolution never leaves the image and a loop
 * ends after a bounded number of hops with a note instead of a hang.
 */
export function resolveView(state: ReadonlyMap<string, TrackedNode>, notes: string[]): FileView {
  const view = new Map<string, ImageFile>();
  for (const [path, node] of state) {
    let current: TrackedNode | undefined = node;
    let hops = 0;
    while (current?.kind === 'link' && hops < maxLinkHops) {
      current = state.get(current.target);
      hops += 1;
    }
    if (current?.kind === 'file') {
      const { content, layerDigest, detector } = current;
      view.set(path, detector ? { content, layerDigest, detector } : { content, layerDigest });
    } else if (current?.kind === 'link') notes.push(`/${path} is part of a symlink loop and was not read`);
    else notes.push(`/${path} is a link to a file the scanner did not capture`);
  }
  return view;
}
