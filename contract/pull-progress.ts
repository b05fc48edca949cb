/**
 * One layer's progress in a pull: made by the puller (images/image-pull.ts), carried as `progress`
 * events of an image operation (contract/image-op.ts), drawn by `warmbox pull` (cli/progress.ts).
 */
export interface PullProgress {
  /** The layer's blob digest. */
  layer: string;
  status: 'waiting' | 'downloading' | 'verifying' | 'extracting' | 'exists' | 'done';
  doneBytes: number;
  totalBytes: number;
}
