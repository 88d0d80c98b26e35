/**
 * Accept-header matching for manifest GET/HEAD. A missing header, `*\/*` or `type/*` accept
 * anything; otherwise only the listed media types (q=0 entries excluded).
 */
export class AcceptList {
  private readonly types = new Set<string>();
  private readonly wildcardTypes = new Set<string>();
  private anything = false;

  constructor(headerValues: string | string[] | undefined) {
    const values = Array.isArray(headerValues)
      ? headerValues
      : headerValues === undefined
        ? []
        : [headerValues];
    for (const value of values) {
      for (const entry of value.split(',')) {
        const [type, ...parameters] = entry.split(';').map((part) => part.trim().toLowerCase());
        if (!type) continue;
        if (parameters.some((parameter) => /^q=0(\.0*)?$/.test(parameter))) continue;
        if (type === '*/*') this.anything = true;
        else if (type.endsWith('/*')) this.wildcardTypes.add(type.slice(0, -2));
        else this.types.add(type);
      }
    }
    if (this.types.size === 0 && this.wildcardTypes.size === 0) this.anything = true;
  }

  accepts(mediaType: string): boolean {
    if (this.anything || this.types.has(mediaType)) return true;
    return this.wildcardTypes.has(mediaType.split('/', 1)[0]!);
  }
}
