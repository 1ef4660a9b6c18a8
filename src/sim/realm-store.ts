// The simulated realm: hosts joined, with their one-time passwords.
export interface RealmHost {
  hostname: string;
  userclass?: string;
  otp: string;
}

export class RealmStore {
  hosts = new Map<string, RealmHost>();

  reset(): void {
    this.hosts.clear();
  }

  snapshot(): Record<string, unknown> {
    return { hosts: [...this.hosts.values()].map((h) => ({ ...h })) };
  }
}
