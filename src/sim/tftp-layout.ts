// Where each boot-loader variant keeps its per-MAC and default files below the tftproot
// (SP 3.11 modules/tftp/server.rb). The first per-MAC file is the one GET returns.

export const TFTP_VARIANTS = ['Syslinux', 'Pxelinux', 'Pxegrub', 'Pxegrub2', 'Ztp', 'Poap', 'Ipxe'] as const;
export type TftpVariant = (typeof TFTP_VARIANTS)[number];

/** Ruby's String#capitalize, which is how SP matches the variant in the URL. */
export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
}

export function variantOf(name: string): TftpVariant | undefined {
  const c = capitalize(name);
  return (TFTP_VARIANTS as readonly string[]).includes(c) ? (c as TftpVariant) : undefined;
}

const dashedLower = (mac: string) => mac.replace(/:/g, '-').toLowerCase();
const bareUpper = (mac: string) => mac.replace(/:/g, '').toUpperCase();

/** Relative paths of the per-MAC config files. */
export function perMacFiles(v: TftpVariant, mac: string): string[] {
  switch (v) {
    case 'Syslinux':
    case 'Pxelinux':
      return [`pxelinux.cfg/01-${dashedLower(mac)}`];
    case 'Pxegrub':
      return [`grub/menu.lst.01${bareUpper(mac)}`, `grub/01-${mac.replace(/:/g, '-').toUpperCase()}`];
    case 'Pxegrub2':
      return [`grub2/grub.cfg-01-${dashedLower(mac)}`, `grub2/grub.cfg-${mac.toLowerCase()}`];
    case 'Ztp':
      return [`ztp.cfg/${bareUpper(mac)}`, `ztp.cfg/${bareUpper(mac)}.cfg`];
    case 'Poap':
      return [`poap.cfg/${bareUpper(mac)}`];
    case 'Ipxe':
      return [`pxelinux.cfg/01-${dashedLower(mac)}.ipxe`];
  }
}

/** Relative paths of the default menu files. ZTP and POAP use the per-MAC directory's own path. */
export function defaultFiles(v: TftpVariant): string[] {
  switch (v) {
    case 'Syslinux':
    case 'Pxelinux':
      return ['pxelinux.cfg/default'];
    case 'Pxegrub':
      return ['grub/menu.lst', 'grub/efidefault'];
    case 'Pxegrub2':
      return ['grub2/grub.cfg'];
    case 'Ztp':
      return ['ztp.cfg'];
    case 'Poap':
      return ['poap.cfg'];
    case 'Ipxe':
      return ['pxelinux.cfg/default.ipxe'];
  }
}
