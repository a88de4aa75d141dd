/** The file of a `sqlite:` database URL, or null for any other store. */
export function sqlitePath(databaseUrl: string): string | null {
  if (!databaseUrl.startsWith('sqlite:')) return null;
  return databaseUrl.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
}
