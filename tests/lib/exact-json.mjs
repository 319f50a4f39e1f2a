// Reads the API's JSON keeping every price and volume as the text the server wrote: a JSON
// number parsed into a double would lose digits (97000.10 -> 97000.1), and the tests compare
// them with NUMERIC's text digit for digit.
const EXACT_FIELDS = /"(price|volume|open|high|low|close|volume_buy|volume_sell|change_24h|change_24h_percent|volume_24h|volume_buy_24h|volume_sell_24h|price_usd)":(-?[0-9][0-9.eE+-]*)/g;

export function parseExactJson(text) {
  return JSON.parse(text.replace(EXACT_FIELDS, '"$1":"$2"'));
}

// {status, body} of a GET.
export async function getExactJson(url) {
  const response = await fetch(url);
  return { status: response.status, body: parseExactJson(await response.text()) };
}

// The body of a GET that must answer 200.
export async function fetchExactJson(url) {
  const { status, body } = await getExactJson(url);
  if (status !== 200) throw new Error(`GET ${url}: ${status} ${JSON.stringify(body)}`);
  return body;
}
