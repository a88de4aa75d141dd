/** `d1-authz/guard`: the guard package, re-exported so that code written against the server package keeps working. */
export * from '@d1-authz/guard';
