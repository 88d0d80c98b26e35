/** The request URL for a log line: the OIDC callback's query (code, state) never reaches the log. */
export function loggableUrl(url: string): string {
  return url.startsWith('/c/oidc/callback?') ? '/c/oidc/callback?[redacted]' : url;
}
