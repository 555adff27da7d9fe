global using GdNet;
global using Xunit;
