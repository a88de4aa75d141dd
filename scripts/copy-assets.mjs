// tsc compiles only TypeScript: the console's static files go into dist beside the code that serves them.
import { cpSync } from 'node:fs';

cpSync('src/admin/console', 'dist/admin/console', { recursive: true });
