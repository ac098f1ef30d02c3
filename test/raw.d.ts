// Types for Vite's `?raw` imports: a file's contents as a string (tests read fixture files this way inside workerd).
declare module "*?raw" {
  const content: string;
  export default content;
}
