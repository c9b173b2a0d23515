// Placeholder: replaced by the real infrastructure setup.
export default async function setup(): Promise<void> {}
