mod helpers;
mod organizations;
