/** What a host id may be: letters, digits, `.`, `_`, `:`, `-`, up to 128 characters, starting with a letter or digit. */
export const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
