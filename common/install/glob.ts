/**
 * CodeDeploy's permission matching (docs/design/codedeploy.md §1.4): `**` matches every descendant; any
 * other pattern is a simple glob with only `*`, matched against the path relative to the
 * object, and never matches a relative path that contains `/` (immediate children only).
 */
export function matchesSimpleGlob(pattern: string, relative: string): boolean {
  if (pattern === '**') return true;
  if (relative.includes('/')) return false;
  const re = new RegExp(
    '^' + pattern.split('*').map(part => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*') + '$',
  );
  return re.test(relative);
}
