// An ARF report upload as the simulated OpenSCAP module records it.
export interface SimArfUpload {
  cn: string | null;
  policy: string;
  digest: string;
  bytes: number;
  at: number;
}
