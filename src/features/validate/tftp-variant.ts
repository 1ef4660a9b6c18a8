// TFTP boot loader variants. SP capitalizes the path segment and looks it up in its list, so
// any case is accepted ("PXELinux" → "Pxelinux"); the 403 names the segment as given.

const VARIANTS = new Set(['Syslinux', 'Pxelinux', 'Pxegrub', 'Pxegrub2', 'Ztp', 'Poap', 'Ipxe']);

/** Ruby String#capitalize: first character upcased, the rest downcased. */
function capitalize(s: string): string {
  const first = String.fromCodePoint(s.codePointAt(0) ?? 0);
  return s === '' ? '' : first.toUpperCase() + s.slice(first.length).toLowerCase();
}

export function isTftpVariant(variant: string): boolean {
  return VARIANTS.has(capitalize(variant));
}
