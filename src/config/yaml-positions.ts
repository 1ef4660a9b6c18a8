// Maps a path in the parsed data back to a line in the YAML text. Validation runs on plain
// data, which has no positions; the parsed Document keeps each node's source range.
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { PathSegment } from './problems.js';

export class YamlPositions {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /**
   * Line of the node at `path`: for a mapping entry the line of its key, for a list item the
   * item's line. When the path does not exist (a missing key), the line of the deepest part
   * that does.
   */
  lineOf(path: readonly PathSegment[]): number | undefined {
    let node: unknown = this.doc.contents;
    let line = this.lineAt(node);
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => keyText(item.key) === String(segment));
        if (!pair) break;
        line = this.lineAt(pair.key) ?? this.lineAt(pair.value) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item === undefined) break;
        line = this.lineAt(item) ?? line;
        node = item;
      } else {
        break;
      }
    }
    return line;
  }

  private lineAt(node: unknown): number | undefined {
    const range = (node as Node | null | undefined)?.range;
    if (!range) return undefined;
    return this.lines.linePos(range[0]).line;
  }
}

/** Keys as the data sees them: YAML `1:` or `true:` become the strings '1' and 'true'. */
function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}
