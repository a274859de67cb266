// The seed's `no-direct-api-calls`: uploads go through intents (submitIntent / request_upload and a signed URL),
// never through a direct call to an upload route. The seed's pattern, fetch\('/api/v1.*upload|fetch\('/api/operations.*upload,
// also as a template literal or window.fetch. This API's own routes are reached only through the typed client in src/api.

export const MESSAGE = "Use submitIntent('ingest_file', ...) instead of direct API calls";
const UPLOAD_ROUTE = /^(?:https?:\/\/[^/]*)?\/api\/(?:v1|operations).*upload/;

/** The static text of a string or template literal (expressions become empty), else null. */
function staticText(node) {
  if (!node) return null;
  if (node.type === "Literal" && typeof node.value === "string") return node.value;
  if (node.type === "TemplateLiteral") return node.quasis.map((q) => q.value.cooked ?? "").join("");
  return null;
}

function isFetch(callee) {
  if (callee.type === "Identifier") return callee.name === "fetch";
  return (
    callee.type === "MemberExpression" &&
    !callee.computed &&
    callee.property.name === "fetch" &&
    callee.object.type === "Identifier" &&
    ["window", "globalThis", "self"].includes(callee.object.name)
  );
}

/** @type {import('eslint').Rule.RuleModule} */
export const noDirectApiCalls = {
  meta: {
    type: "problem",
    docs: { description: "Uploads go through submitIntent, never a direct call to an upload route." },
    schema: [],
    messages: { direct: MESSAGE },
  },
  create(context) {
    return {
      CallExpression(node) {
        if (!isFetch(node.callee)) return;
        const url = staticText(node.arguments[0]);
        if (url !== null && UPLOAD_ROUTE.test(url)) context.report({ node, messageId: "direct" });
      },
    };
  },
};

export default { meta: { name: "local" }, rules: { "no-direct-api-calls": noDirectApiCalls } };
