// Builds paths for the requests proxy-proxy sends itself (snapshot reads, restores, checks)
// from decoded route parameters. ':' and '@' stay literal so a MAC reads as Foreman writes it.

export function segment(value: string): string {
  return encodeURIComponent(value).replace(/%3A/gi, ':').replace(/%40/g, '@');
}
