/**
 * Tar entry names and link targets as image paths: no leading `/` or `./`, no empty or `.`
 * components. Anything that would climb above the image root is refused (undefined), so a layer
 * can never make the scanner look outside the image.
 */
export function normaliseEntryPath(name: string): string | undefined {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return undefined;
    parts.push(part);
  }
  return parts.length === 0 ? undefined : parts.join('/');
}

/**
 * Resolves a symlink target the way the container would see it: absolute targets from the image
 * root, relative ones from the link's directory. Climbing above the root is refused rather than
 * clamped, because a link that tries it is not one a real package database would use.
 */
export function resolveLinkTarget(linkPath: string, target: string): string | undefined {
  const base = target.startsWith('/') ? [] : linkPath.split('/').slice(0, -1);
  const parts = [...base];
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return parts.length === 0 ? undefined : parts.join('/');
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** True when `path` is `root` or lies below it (`root` '' is the image root). */
export function isAtOrBelow(path: string, root: string): boolean {
  return root === '' || path === root || path.startsWith(`${root}/`);
}
