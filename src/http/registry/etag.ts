/** Whether an `If-None-Match` header names the digest (ETags are the quoted digest). */
export function matchesEtag(ifNoneMatch: string | undefined, digest: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed === `"${digest}"` || trimmed === `W/"${digest}"`;
  });
}
