// The one line a new module adds to src/features/index.ts, done before anything reads the list.
import { ALL_FEATURES } from '../../../src/features/index.js';
import { widget } from './widget.js';

ALL_FEATURES.push(widget);
