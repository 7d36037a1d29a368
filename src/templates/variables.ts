/**
 * Static check of a template's Handlebars against the render context schema: every
 * variable must exist in the context (inside `{{#each}}` and `{{#with}}` too), and every
 * helper must be one of the allow-listed ones. Returns the problems with their lines in the
 * checked text.
 */
import Handlebars from 'handlebars';
import type { z } from 'zod';
import { elementOf, renderContextSchema, schemaAt } from '../core/render-context.ts';
import { BLOCK_HELPERS, ENGINE_HELPERS, TEMPLATE_HELPERS } from './handlebars.ts';

// `hbs.AST` is the global namespace of Handlebars' own type declarations.
type Node = hbs.AST.Node;

export interface VariableProblem {
  line: number;
  message: string;
}

const HELPERS = new Set<string>([...TEMPLATE_HELPERS, ...ENGINE_HELPERS]);
const BLOCKS = new Set<string>(BLOCK_HELPERS);
const DATA_VARIABLES = new Set(['index', 'first', 'last', 'key', 'root']);

/** Checks `source` (already parsed by Handlebars without error). */
export function checkVariables(source: string, root: z.ZodType = renderContextSchema): VariableProblem[] {
  const problems: VariableProblem[] = [];
  const report = (node: Node, message: string) => problems.push({ line: node.loc?.start.line ?? 1, message });

  const resolve = (path: hbs.AST.PathExpression, scopes: z.ZodType[]): z.ZodType | undefined => {
    if (path.data) {
      const [head, ...rest] = path.parts;
      if (head === 'root') return schemaAt(root, rest);
      if (!DATA_VARIABLES.has(head ?? '')) return undefined;
      return rest.length === 0 ? root : undefined;
    }
    const scope = scopes[scopes.length - 1 - path.depth];
    if (!scope) return undefined;
    return schemaAt(scope, path.parts);
  };

  const value = (node: hbs.AST.Expression, scopes: z.ZodType[]): z.ZodType | undefined => {
    if (node.type === 'PathExpression') {
      const path = node as hbs.AST.PathExpression;
      const found = resolve(path, scopes);
      if (!found) report(node, unknownVariable(path.original));
      return found;
    }
    if (node.type === 'SubExpression') call(node as hbs.AST.SubExpression, scopes);
    return undefined;
  };

  const call = (node: hbs.AST.MustacheStatement | hbs.AST.SubExpression | hbs.AST.BlockStatement, scopes: z.ZodType[]) => {
    const path = node.path as hbs.AST.PathExpression;
    const name = path.original;
    const isCall = node.params.length > 0 || (node.hash?.pairs.length ?? 0) > 0 || node.type !== 'MustacheStatement';
    if (isCall && !HELPERS.has(name) && !BLOCKS.has(name)) {
      report(node, `unknown helper "${name}": templates may use ${[...TEMPLATE_HELPERS, ...BLOCK_HELPERS].join(', ')}`);
      return;
    }
    if (!isCall && HELPERS.has(name)) return;
    if (!isCall) {
      value(path, scopes);
      return;
    }
    for (const param of node.params) value(param, scopes);
    for (const pair of node.hash?.pairs ?? []) value(pair.value, scopes);
  };

  const program = (node: hbs.AST.Program | undefined, scopes: z.ZodType[]) => {
    for (const statement of node?.body ?? []) visit(statement, scopes);
  };

  const visit = (node: hbs.AST.Statement, scopes: z.ZodType[]) => {
    switch (node.type) {
      case 'MustacheStatement':
        call(node as hbs.AST.MustacheStatement, scopes);
        return;
      case 'BlockStatement': {
        const block = node as hbs.AST.BlockStatement;
        const name = block.path.original;
        if (!BLOCKS.has(name) && !HELPERS.has(name)) {
          report(node, `unknown block helper "#${name}": blocks may be ${BLOCK_HELPERS.map((b) => `#${b}`).join(', ')}`);
          return;
        }
        const subject = block.params[0] ? value(block.params[0], scopes) : undefined;
        let inner = scopes;
        if (name === 'each' && subject) {
          const element = elementOf(subject);
          if (element) inner = [...scopes, element];
          else report(node, `#each needs a list, and ${(block.params[0] as hbs.AST.PathExpression).original} is not one`);
        } else if (name === 'with' && subject) inner = [...scopes, subject];
        program(block.program, inner);
        program(block.inverse, scopes);
        return;
      }
      case 'PartialStatement':
      case 'PartialBlockStatement':
        report(node, 'partials are resolved from templates/partials when the template is assembled; this one was not');
        return;
      default:
        return;
    }
  };

  program(Handlebars.parse(source), [root]);
  return problems;
}

function unknownVariable(original: string): string {
  return `"${original}" is not in the render context (see RenderContext in src/core/render-context.ts)`;
}
