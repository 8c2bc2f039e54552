// ESLint rule `layers/boundaries`: the intended dependency direction between
// the folders of src/, checked on every lint run instead of remembered. Each
// relative import is resolved against the importing file; the folder it lands
// in (its layer) must be one the importing layer may use. Services may use any
// domain layer but never another service's folder; only boot wires everything.
import path from 'node:path';

/** @type {import('eslint').Rule.RuleModule} */
const boundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'imports follow the declared layer graph of src/' },
    schema: [
      {
        type: 'object',
        properties: {
          root: { type: 'string' },
          layers: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
        },
        required: ['root', 'layers'],
        additionalProperties: false,
      },
    ],
    messages: {
      forbidden: '{{from}} may not import {{to}} ({{spec}}): {{from}} may use {{allowed}}',
      otherService: 'service {{from}} may not import service {{to}} ({{spec}}): move what they share into a domain module',
      unknownLayer: '{{file}} is in no declared layer: add its folder to the layers of eslint.config.js',
    },
  },
  create(context) {
    const { root, layers } = context.options[0];
    const srcRoot = path.resolve(context.cwd, root);
    /** 'services/tenant-node/routes.ts' → { layer: 'services', service: 'tenant-node' } */
    const locate = (file) => {
      const rel = path.relative(srcRoot, file);
      if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
      const [first, second] = rel.split(path.sep);
      const layer = rel.includes(path.sep) ? first : path.basename(first, path.extname(first));
      return { layer, service: layer === 'services' && second?.includes('.') === false ? second : undefined };
    };
    const self = locate(context.filename);
    if (!self) return {};
    if (!(self.layer in layers)) {
      return {
        Program(node) {
          context.report({ node, messageId: 'unknownLayer', data: { file: path.relative(context.cwd, context.filename) } });
        },
      };
    }
    const check = (node, spec) => {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = locate(path.resolve(path.dirname(context.filename), spec));
      if (!target) return;
      if (target.layer === self.layer) {
        if (self.service && target.service && self.service !== target.service) {
          context.report({ node, messageId: 'otherService', data: { from: self.service, to: target.service, spec } });
        }
        return;
      }
      const allowed = layers[self.layer];
      if (!allowed.includes(target.layer)) {
        context.report({ node, messageId: 'forbidden', data: { from: self.layer, to: target.layer, spec, allowed: allowed.join(', ') || 'nothing else' } });
      }
    };
    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
    };
  },
};

export default { rules: { boundaries } };
